"""Restora's window: PySide6 widgets that talk to core through engines and jobs. No restoration maths here."""
