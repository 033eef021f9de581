# The functions in private subnets (optional): a security group for them, the S3 gateway endpoint on the subnets'
# route tables (S3 traffic stays in the VPC, at no charge), and an interface endpoint per AWS service they call
# (SQS; the lake adds Glue and Athena), with private DNS so that the SDK's default endpoints resolve to them.
# BLS and DataUSA are on the internet: egress goes through the NAT the caller's route tables give the subnets.

data "aws_region" "current" {}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:attached to the functions by their vpc_config (modules/lambda_image), which checkov cannot link across modules
  name        = "${var.name}-functions"
  description = "dataquest functions: HTTPS out (AWS endpoints in the VPC, BLS and DataUSA through the NAT)."
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https" {
  #checkov:skip=CKV_AWS_382:the functions fetch from BLS and DataUSA on the internet (HTTPS only), through the caller's NAT
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to the endpoints, BLS and DataUSA."
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "dataquest interface endpoints: HTTPS from the functions only."
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_functions" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from the dataquest functions."
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.this.id
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
  tags              = merge(var.tags, { Name = "${var.name}-s3" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(var.interface_services)

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-${each.key}" })
}
