"""Running tasks the way a Flyte cluster does: the container entrypoint, storage and the sandbox."""
