"""Vision-language geometry: images, processors, collators, VL SFT / DPO, generated problems."""
