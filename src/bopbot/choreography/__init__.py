"""The new dance: from the user's dance to the model's continuation on their canvas, drawn as video."""
