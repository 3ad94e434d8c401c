"""The pure core: clock and local times, durations, quiet hours, topics and limits; imports nothing else of ours (the workflow sandbox imports it)."""
