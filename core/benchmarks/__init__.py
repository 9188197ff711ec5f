"""Speed and memory measurements behind `restora bench` (not run by the test suite)."""
