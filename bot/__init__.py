"""The Rasa project (config, domain, data), the plug-ins the Rasa server loads, and the ``rights``
command that composes every process for a local run."""
