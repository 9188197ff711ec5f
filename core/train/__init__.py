"""Training: configs, datasets, degradations, masks, losses, optimisers, the trainer and its run folder.

Runs in its own process (`python main.py train CONFIG`, or torchrun for several GPUs); see
core/train/runfolder.py for what a run writes and core/train/presets/ for what can be trained.
"""
