terraform {
  required_version = ">= 1.9" # the bls_surveys validation reads the layout (a local)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.32, < 6" # logging_config (the functions' JSON logs) needs 5.32
    }
  }
}
