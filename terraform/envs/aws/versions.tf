terraform {
  required_version = ">= 1.11" # <env>.s3.tfbackend locks state with use_lockfile (S3-native; experimental in 1.10)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # The backend's type; its settings come per environment from -backend-config=<env>.local.tfbackend (a state file
  # of its own) or, with a backend_override.tf saying "s3" (make tf-s3-backend writes both), <env>.s3.tfbackend
  # (../../README.md, Remote state).
  backend "local" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = "RearcDataQuest"
      Environment = var.environment
    }
  }
}
