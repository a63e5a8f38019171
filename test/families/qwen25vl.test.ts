// Qwen2.5-VL (window attention in the vision encoder, RMSNorm/SwiGLU ViT, M-RoPE decoder): tiny seeded model vs
// PyTorch.
import { familyParity } from "./common";

familyParity("qwen2.5-vl");
