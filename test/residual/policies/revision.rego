# Depends on base data, so the engine's revision must change when that data changes.
package writegate.tricky.revision

import rego.v1

default allowed_namespaces := ["dev"]

allowed_namespaces := data.config.namespaces if data.config.namespaces

decision := {"allow": input.request.namespace in allowed_namespaces}
