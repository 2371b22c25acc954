"""The app layer: the command line (`cli`, one module per verb in `verbs/`) and the web page (`serve`)."""
