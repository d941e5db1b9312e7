"""Progress reporting for a fetch: Rich progress tasks when shown, silence otherwise."""

from rich.progress import Progress


class Reporter:
    """Thin wrapper over an optional Rich Progress, so stages report without caring whether it is shown."""

    def __init__(self, progress: Progress | None = None):
        self.progress = progress

    def task(self, description: str, total: float | None = None):
        """Start a task; returns its id (None when silent)."""
        if self.progress is None:
            return None
        return self.progress.add_task(description, total=total, status="")

    def advance(self, task, amount: float = 1, status: str | None = None) -> None:
        if self.progress is not None and task is not None:
            fields = {} if status is None else {"status": status}
            self.progress.update(task, advance=amount, **fields)

    def finish(self, task, status: str = "done") -> None:
        """Mark a task complete (also when its total was unknown)."""
        if self.progress is not None and task is not None:
            t = self.progress.tasks[self.progress.task_ids.index(task)]
            total = t.total if t.total is not None else t.completed
            self.progress.update(task, total=total, completed=total, status=status)

    def note(self, message: str) -> None:
        """A line printed above the bars (e.g. why a source was skipped)."""
        if self.progress is not None:
            self.progress.console.print(message)
