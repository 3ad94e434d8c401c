"""What a person sees (notice texts, the bot's texts, keyboards, signed button data); imports channels, settings, core."""
