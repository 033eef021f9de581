"""Operating a deployment: what ran and what is pending (:mod:`.status`), and image promotion through ECR by
digest (:mod:`.promote`)."""
