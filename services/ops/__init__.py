"""Operations tooling beside the workers: the embedded stack and its supervisor, init, demo, bench, dead-letter
tooling, replay and input tracking. Nothing in ``services.common`` or a worker imports this package."""
