"""The workflows' side effects (mirror rows, deliver a notice, reconcile); imports api, texts, db, channels, workflows, core."""
