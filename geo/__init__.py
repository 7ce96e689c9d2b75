"""redstar geo: vision-language (image+text) data and training for geometry reasoning.

images.py     load / validate / convert / bound row images (paths, bytes, PIL)
generator.py  procedural GeoQA-shaped problems with pillow diagrams (python -m geo.generator)
convert.py    GeoQA (G-LLaVA JSONL, opt-in pickles), Geometry3K, LLaVA conversations -> rows
collate.py    chat rows -> processor inputs, assistant-only labels, packing with multimodal rotary positions
dataset.py    rows encoded once, images decoded per micro-batch
freeze.py     vision tower / projector / language model switches and learning rates
sft.py, dpo.py  the recipes behind `redstar sft` / `redstar dpo` with `modality: vision`
"""
