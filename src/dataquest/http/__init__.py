"""HTTP to the public sources (BLS, DataUSA): one client with the contact in its User-Agent, retries and pacing
(:mod:`.client`), the deployment-wide request interval (:mod:`.pacing`), and what each source's error answers
mean (:mod:`.sources`)."""
