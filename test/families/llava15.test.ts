// LLaVA-1.5 (llava-hf layout: CLIP vision, Llama decoder, SentencePiece-BPE tokenizer, llava-hf chat template):
// tiny seeded model vs PyTorch.
import { familyParity } from "./common";

familyParity("llava-1.5");
