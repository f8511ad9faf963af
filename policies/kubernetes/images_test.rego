package writegate.kubernetes_test

import data.writegate.kubernetes

denied_image(image) if {
	d := kubernetes.deny with input as pod_input(pod_spec([container("app", image)]))
	rules_of(d) == {"no-latest-tag"}
}

allowed_image(image) if {
	d := kubernetes.deny with input as pod_input(pod_spec([container("app", image)]))
	d == set()
}

test_latest_tag_denied if {
	denied_image("nginx:latest")
	denied_image("docker.io/library/nginx:latest")
	denied_image("registry.example.com:5000/team/app:latest")
}

test_untagged_image_denied if {
	denied_image("nginx")
	denied_image("ghcr.io/org/app")
}

test_registry_port_without_tag_denied if {
	denied_image("registry:5000/app")
	denied_image("localhost:5000/team/app")
}

test_untagged_message if {
	d := kubernetes.deny with input as pod_input(pod_spec([container("app", "registry:5000/app")]))
	d == {{
		"rule": "no-latest-tag",
		"msg": `container "app" uses image "registry:5000/app" without a tag, which means :latest: pin a tag or digest [no-latest-tag]`,
	}}
}

test_pinned_tags_allowed if {
	allowed_image("nginx:1.27.3")
	allowed_image("registry:5000/app:1.2.0")
	allowed_image("registry:5000/latest:1.0")
	allowed_image("ghcr.io/org/app:latest-rc1")
}

test_digests_allowed if {
	allowed_image("nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31")
	allowed_image("registry:5000/app@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31")
	allowed_image("nginx:latest@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31")
}

test_latest_init_container_denied if {
	spec := {"containers": [container("app", "app:1.0")], "initContainers": [container("migrate", "flyway/flyway:latest")]}
	d := kubernetes.deny with input as pod_input(spec)
	some v in d
	v.rule == "no-latest-tag"
	contains(v.msg, `init container "migrate"`)
}

test_latest_in_cronjob_template_denied if {
	d := kubernetes.deny with input as workload_input("CronJob", good_labels, pod_spec([container("report", "reports")]))
	rules_of(d) == {"no-latest-tag"}
}

test_every_container_is_reported if {
	spec := pod_spec([container("a", "a"), container("b", "b:latest"), container("c", "c:1")])
	d := kubernetes.deny with input as pod_input(spec)
	count(d) == 2
}

test_untagged_helper if {
	kubernetes.untagged("registry:5000/app")
	not kubernetes.untagged("registry:5000/app:v1")
	not kubernetes.untagged("app@sha256:abc")
}
