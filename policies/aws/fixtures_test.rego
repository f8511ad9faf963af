package writegate.aws_test

# Inputs as the gateway builds them (policies/README.md, "AWS").

caller := {"username": "ci-bot", "uid": "", "groups": ["ci"], "extra": {}, "authenticatedBy": "token"}

iam_input(action, operation, params, old) := {
	"version": "writegate.dev/v1",
	"upstream": "aws-iam",
	"upstreamKind": "aws",
	"method": "POST",
	"path": "/",
	"query": {},
	"headers": {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
	"request": {
		"operation": operation,
		"method": "POST",
		"path": "/",
		"query": {},
		"service": "iam",
		"region": "us-east-1",
		"action": action,
		"apiVersion": "2010-05-08",
		"params": object.union({"Action": action, "Version": "2010-05-08"}, params),
		"oldObject": old,
		"userInfo": caller,
	},
}

key(id, status, age) := {"accessKeyId": id, "status": status, "createDate": "2026-01-01T00:00:00Z", "ageDays": age}

user_keys(name, tags, keys) := {"userName": name, "user": {"userName": name, "userId": "AIDA0", "arn": "arn:aws:iam::123456789012:user/x", "path": "/", "tags": tags}, "accessKeys": keys}

service_tags := {"writegate/service-user": "true"}

ec2_input(action, params, permissions, old) := {
	"version": "writegate.dev/v1",
	"upstream": "aws-ec2",
	"upstreamKind": "aws",
	"method": "POST",
	"path": "/",
	"query": {},
	"headers": {},
	"request": {
		"operation": "CREATE",
		"method": "POST",
		"path": "/",
		"query": {},
		"service": "ec2",
		"region": "us-east-1",
		"action": action,
		"apiVersion": "2016-11-15",
		"params": object.union({"Action": action, "Version": "2016-11-15"}, params),
		"permissions": permissions,
		"oldObject": old,
		"userInfo": caller,
	},
}

perm(protocol, from, to, v4, v6) := {"ipProtocol": protocol, "fromPort": from, "toPort": to, "ipRanges": v4, "ipv6Ranges": v6, "groups": [], "prefixListIds": []}

group := {"groupId": "sg-1", "groupName": "web", "vpcId": "vpc-1", "ipPermissions": [], "ipPermissionsEgress": []}

rules(violations) := {v.rule | some v in violations}
