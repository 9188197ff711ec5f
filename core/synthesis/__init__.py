"""Synthetic degradations that turn good photos into training and evaluation inputs."""
