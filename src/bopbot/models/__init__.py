"""The generators (GPT-2, the music-aware GPT-2, LSTM, baselines), the travel model, their training, the model folder."""
