"""The pure core (clock and local times, durations, quiet hours, topics, limits, the domain's enums); imports nothing else of ours."""
