"""Both sides of a transfer: the message the planner sends and the worker accepts (:mod:`.messages`), the
executors that carry a plan's uploads out in this process or through the transfer queue (:mod:`.streams`,
:mod:`.messages`), the streamed upload itself (:mod:`.upload`), its resumable form (:mod:`.resume`), and the
transfer function's work on one message (:mod:`.worker`)."""
