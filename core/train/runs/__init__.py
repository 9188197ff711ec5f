"""The training run folder without torch: its layout (layout), metrics as growing series (series), reading a
growing folder (reader), command lines and presets (commands), figures for people (figures), and the training
panel's run state (supervisor). The trainer writes through core/train/runfolder.py, which takes its names from
layout; the panel and the CLI read through reader. Nothing here imports torch or Qt.
"""
