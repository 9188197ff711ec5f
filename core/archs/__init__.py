"""Our own nn.Module implementations, each able to load the official released checkpoint strictly."""
