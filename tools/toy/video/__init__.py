"""toy-llava-video: LlavaNextVideoForConditionalGeneration (CLIP tower -> 2x2 average pool -> MLP projector) with a
Qwen2 decoder, trained on the scene engine's 8-frame clips (video-appear, video-order). See tools/README.md."""
