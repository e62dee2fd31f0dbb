"""Knowledge injection: a foundation model (any causal LM + the local model's encoders + projectors +
LoRA or mixture-of-LoRA-experts adapters), the injection loop, generation and zero-shot prediction."""
