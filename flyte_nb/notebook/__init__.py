"""The kernel layer: the IPython extension, the ``%%flyte_task`` magic, widgets and reprs."""
