"""What a person sees: message texts, the bot's texts, keyboards and their signed button data; imports the core, settings and channels."""
