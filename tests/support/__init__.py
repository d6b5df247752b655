"""Test support code: real backends, the in-process pipeline, small servers."""
