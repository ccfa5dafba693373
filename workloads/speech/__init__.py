"""Workloads 6 to 9, Speech-LIF and Speech-LSNN, and the LSTM baseline (test_speech.py)."""
