terraform {
  required_version = ">= 1.11" # backend.tf.example locks state with use_lockfile (S3-native; experimental in 1.10)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State is local unless a backend is configured: copy backend.tf.example to backend.tf (see ../../README.md).
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = "RearcDataQuest"
      Environment = "shared"
    }
  }
}
