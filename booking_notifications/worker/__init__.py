"""Process entry (worker assembly, the delivery queue, supervision); imports activities, api, texts, db, channels, settings, workflows."""
