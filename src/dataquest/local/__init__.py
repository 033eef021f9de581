"""What emulates AWS on a laptop and never ships in a Lambda: the embedded run (:mod:`.embedded`), the queues and
notification Terraform would create (:mod:`.topology`), the SQS event source mapping (:mod:`.relay`), and how it
invokes a function (:mod:`.invoke`)."""
