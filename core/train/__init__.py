"""Training: configs, datasets, degradations, masks, losses, optimisers, the trainer and its run folder.

Runs in its own process (`python main.py train CONFIG`, or torchrun for several GPUs); see
core/train/runs/layout.py for what a run writes (the torch-free format the trainer's
core/train/runfolder.py and the training panel share) and core/train/presets/ for what can be trained.
"""
