# Example: mirror a web/database ENI to a fleet of tapwatch instances
# behind a Network Load Balancer (UDP 4789), health-checked on /healthz.
# Adjust the variables; review before applying: this creates billable
# resources.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "vpc_id" { type = string }
variable "subnet_ids" {
  description = "Private subnets of the tapwatch instances and the NLB"
  type        = list(string)
}
variable "vpc_cidr" {
  description = "Where mirrored traffic comes from (the mirror sources' subnets)"
  type        = string
}
variable "source_eni_id" {
  description = "The ENI whose traffic is mirrored"
  type        = string
}
variable "tapwatch_instance_ids" { type = list(string) }
variable "tapwatch_sg_id" {
  description = "Security group of the tapwatch instances (rules below)"
  type        = string
}
variable "vni" {
  type    = number
  default = 1001
}
variable "packet_length" {
  description = "Bytes of each packet to mirror (null: whole packets)"
  type        = number
  default     = null
}

resource "aws_lb" "tapwatch" {
  name               = "tapwatch"
  internal           = true
  load_balancer_type = "network"
  subnets            = var.subnet_ids
  # Mirror sources in every AZ reach every target.
  enable_cross_zone_load_balancing = true
}

resource "aws_lb_target_group" "vxlan" {
  name        = "tapwatch-vxlan"
  port        = 4789
  protocol    = "UDP"
  vpc_id      = var.vpc_id
  target_type = "instance"
  # A tapwatch being stopped answers 503 for live.shutdown-grace seconds:
  # keep the deregistration delay above that.
  deregistration_delay = 30
  health_check {
    protocol            = "HTTP"
    port                = "8080"
    path                = "/healthz"
    matcher             = "200"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_target_group_attachment" "tapwatch" {
  count            = length(var.tapwatch_instance_ids)
  target_group_arn = aws_lb_target_group.vxlan.arn
  target_id        = var.tapwatch_instance_ids[count.index]
  port             = 4789
}

resource "aws_lb_listener" "vxlan" {
  load_balancer_arn = aws_lb.tapwatch.arn
  port              = 4789
  protocol          = "UDP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.vxlan.arn
  }
}

resource "aws_ec2_traffic_mirror_target" "nlb" {
  network_load_balancer_arn = aws_lb.tapwatch.arn
  description               = "tapwatch NLB"
}

# Accept web, TLS and PostgreSQL in both directions; reject SSH.
resource "aws_ec2_traffic_mirror_filter" "tapwatch" {
  description = "web, TLS and PostgreSQL to tapwatch; no SSH"
}

locals {
  accepted = { http = 80, https = 443, postgres = 5432 }
}

resource "aws_ec2_traffic_mirror_filter_rule" "reject_ssh_in" {
  traffic_mirror_filter_id = aws_ec2_traffic_mirror_filter.tapwatch.id
  traffic_direction        = "ingress"
  rule_number              = 10
  rule_action              = "reject"
  protocol                 = 6
  source_cidr_block        = "0.0.0.0/0"
  destination_cidr_block   = "0.0.0.0/0"
  destination_port_range {
    from_port = 22
    to_port   = 22
  }
}

resource "aws_ec2_traffic_mirror_filter_rule" "reject_ssh_out" {
  traffic_mirror_filter_id = aws_ec2_traffic_mirror_filter.tapwatch.id
  traffic_direction        = "egress"
  rule_number              = 10
  rule_action              = "reject"
  protocol                 = 6
  source_cidr_block        = "0.0.0.0/0"
  destination_cidr_block   = "0.0.0.0/0"
  source_port_range {
    from_port = 22
    to_port   = 22
  }
}

resource "aws_ec2_traffic_mirror_filter_rule" "accept_in" {
  for_each                 = local.accepted
  traffic_mirror_filter_id = aws_ec2_traffic_mirror_filter.tapwatch.id
  traffic_direction        = "ingress"
  rule_number              = 100 + each.value % 1000
  rule_action              = "accept"
  protocol                 = 6
  source_cidr_block        = "0.0.0.0/0"
  destination_cidr_block   = "0.0.0.0/0"
  destination_port_range {
    from_port = each.value
    to_port   = each.value
  }
}

resource "aws_ec2_traffic_mirror_filter_rule" "accept_out" {
  for_each                 = local.accepted
  traffic_mirror_filter_id = aws_ec2_traffic_mirror_filter.tapwatch.id
  traffic_direction        = "egress"
  rule_number              = 100 + each.value % 1000
  rule_action              = "accept"
  protocol                 = 6
  source_cidr_block        = "0.0.0.0/0"
  destination_cidr_block   = "0.0.0.0/0"
  source_port_range {
    from_port = each.value
    to_port   = each.value
  }
}

resource "aws_ec2_traffic_mirror_session" "web" {
  description              = "web-mirror"
  network_interface_id     = var.source_eni_id
  traffic_mirror_target_id = aws_ec2_traffic_mirror_target.nlb.id
  traffic_mirror_filter_id = aws_ec2_traffic_mirror_filter.tapwatch.id
  session_number           = 1
  virtual_network_id       = var.vni
  # Truncated packets still decode; tapwatch marks them mirror.truncated.
  packet_length = var.packet_length
}

# What the tapwatch instances' security group must allow: VXLAN from the
# mirror sources (the NLB keeps the sources' addresses) and health checks
# from the NLB's subnets.
resource "aws_vpc_security_group_ingress_rule" "vxlan" {
  security_group_id = var.tapwatch_sg_id
  ip_protocol       = "udp"
  from_port         = 4789
  to_port           = 4789
  cidr_ipv4         = var.vpc_cidr
  description       = "VXLAN mirror traffic"
}

resource "aws_vpc_security_group_ingress_rule" "health" {
  security_group_id = var.tapwatch_sg_id
  ip_protocol       = "tcp"
  from_port         = 8080
  to_port           = 8080
  cidr_ipv4         = var.vpc_cidr
  description       = "NLB health checks and Prometheus"
}

output "mirror_target_id" {
  value = aws_ec2_traffic_mirror_target.nlb.id
}
