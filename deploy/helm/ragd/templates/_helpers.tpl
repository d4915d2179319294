{{- define "ragd.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ragd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ragd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ragd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ragd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ragd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ragd.secretName" -}}
{{- default (include "ragd.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/*
Store mode: "postgresql" when a PostgreSQL URL is given (store.url, or a key of an existing Secret), else "sqlite"
(the embedded store in the data volume). Everything that differs between the modes asks this one helper.
*/}}
{{- define "ragd.storeMode" -}}
{{- $url := .Values.store.url | default "" -}}
{{- if $url -}}
{{- if not (regexMatch "^postgres(ql)?(\\+[a-z0-9]+)?://" $url) -}}
{{- fail "store.url must be a postgresql:// URL (leave it empty for the embedded SQLite store)" -}}
{{- end -}}
postgresql
{{- else if .Values.store.existingSecret.name -}}
postgresql
{{- else -}}
sqlite
{{- end -}}
{{- end -}}

{{/*
Replicas: replicaCount, or by default 1 (SQLite) / 2 (PostgreSQL). SQLite mode refuses more than one: one
process tree owns the SQLite file on the volume. PostgreSQL mode refuses fewer than two: the
PodDisruptionBudget (minAvailable 1) would then block every node drain.
*/}}
{{- define "ragd.replicas" -}}
{{- $mode := include "ragd.storeMode" . -}}
{{- $n := ternary 2 1 (eq $mode "postgresql") -}}
{{- if not (kindIs "invalid" .Values.replicaCount) -}}
{{- $n = int .Values.replicaCount -}}
{{- end -}}
{{- if and (eq $mode "sqlite") (gt $n 1) -}}
{{- fail "replicaCount > 1 needs PostgreSQL: set store.url (or store.existingSecret) to a postgresql:// URL; the embedded SQLite store runs one replica (docs/scaling.md)" -}}
{{- end -}}
{{- if and (eq $mode "postgresql") (lt $n 2) -}}
{{- fail "PostgreSQL mode runs 2 or more replicas (replicaCount); for a single replica leave store.url empty (SQLite)" -}}
{{- end -}}
{{- $n -}}
{{- end -}}

{{/*
PostgreSQL mode: replicas must share the JWT secret and the audit signing key, or each pod would generate its
own into its emptyDir (tokens signed by one rejected by another; two keys signing one audit chain). Checked
when the chart writes the Secret; an existingSecret is the operator's to fill (values-postgresql.yaml).
*/}}
{{- define "ragd.checkSharedSecrets" -}}
{{- if and .Values.store.url .Values.existingSecret -}}
{{- fail "store.url is written into the chart's Secret, which existingSecret replaces: put the URL into a Secret and name it in store.existingSecret" -}}
{{- end -}}
{{- if and (eq (include "ragd.storeMode" .) "postgresql") (not .Values.existingSecret) -}}
{{- range $key := list "RAGD_AUTH__JWT_SECRET" "RAGD_AUDIT__SIGNING_KEY" -}}
{{- if not (get $.Values.secrets $key) -}}
{{- fail (printf "PostgreSQL mode: set secrets.%s (shared by every replica), or use existingSecret" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Broker mode (docs/scaling.md#workers): "true" when a broker URL is given (broker.url, or a key of an existing
Secret). The API replicas then publish ingestion tasks to it instead of running them, and `ragd worker` pods run
them. It needs PostgreSQL mode: a worker reaches the store over the network, never a replica's SQLite volume.
*/}}
{{- define "ragd.brokerMode" -}}
{{- $url := .Values.broker.url | default "" -}}
{{- $on := or $url .Values.broker.existingSecret.name -}}
{{- if and $url (not (regexMatch "^(amqps?|redis|rediss)://" $url)) -}}
{{- fail "broker.url must be an amqp://, amqps://, redis:// or rediss:// URL (leave it empty for in-process ingestion)" -}}
{{- end -}}
{{- if and $on (ne (include "ragd.storeMode" .) "postgresql") -}}
{{- fail "broker mode (broker.url or broker.existingSecret) needs PostgreSQL: set store.url or store.existingSecret; workers cannot reach the SQLite volume (docs/scaling.md#workers)" -}}
{{- end -}}
{{- if and $url .Values.existingSecret -}}
{{- fail "broker.url is written into the chart's Secret, which existingSecret replaces: put the URL into a Secret and name it in broker.existingSecret" -}}
{{- end -}}
{{- ternary "true" "false" (not (empty $on)) -}}
{{- end -}}

{{/*
The worker Deployment is rendered in broker mode unless workers.enabled is false (workers run elsewhere, e.g.
`ragd worker` on other machines reaching the same store and broker).
*/}}
{{- define "ragd.workersEnabled" -}}
{{- ternary "true" "false" (and (eq (include "ragd.brokerMode" .) "true") .Values.workers.enabled) -}}
{{- end -}}

{{- define "ragd.workerName" -}}
{{- printf "%s-worker" (include "ragd.fullname" . | trunc 56 | trimSuffix "-") -}}
{{- end -}}

{{/*
Worker pods carry a name of their own (<chart>-worker), so that the API's Service, PodDisruptionBudget and
anti-affinity (which select <chart> pods of the release) never take them for API replicas.
*/}}
{{- define "ragd.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-worker" (include "ragd.name" .) }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "ragd.workerLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ragd.workerSelectorLabels" . }}
app.kubernetes.io/part-of: {{ include "ragd.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The environment entries read from operators' Secrets (store.existingSecret, broker.existingSecret), shared by
the API and the worker containers. Empty when the chart's own Secret holds the URLs (envFrom).
*/}}
{{- define "ragd.secretEnv" -}}
{{- with .Values.store.existingSecret }}
{{- if .name }}
- name: RAGD_STORE__URL
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key | default "RAGD_STORE__URL" }}
{{- end }}
{{- end }}
{{- with .Values.broker.existingSecret }}
{{- if .name }}
- name: RAGD_JOBS__BROKER_URL
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key | default "RAGD_JOBS__BROKER_URL" }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The ServiceAccount every pod of the chart runs as: the chart's own (serviceAccount.create), or one named in
serviceAccount.name, else the namespace's "default".
*/}}
{{- define "ragd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ragd.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
What every pod of the chart (API, workers, backup job) shares: its identity, no Kubernetes API token (ragd never
calls the API), the "restricted" Pod Security Standard's pod-level settings.
*/}}
{{- define "ragd.podIdentity" -}}
serviceAccountName: {{ include "ragd.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* /tmp of every pod: the read-only root file system leaves ragd this scratch directory (and /data). */}}
{{- define "ragd.tmpVolume" -}}
- name: tmp
  {{- if or .Values.tmpVolume.medium .Values.tmpVolume.sizeLimit }}
  emptyDir:
    {{- with .Values.tmpVolume.medium }}
    medium: {{ . }}
    {{- end }}
    {{- with .Values.tmpVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end -}}

{{/*
NetworkPolicy egress rules of a pod of the chart: DNS, then each egress target named in targets (postgresql,
redis, broker, llm) that lists peers, then networkPolicy.egress.extra (when extra is true). Called with
(list $ctx $targets $extra). A target without peers gets no rule: nothing of the pod may reach it.
*/}}
{{- define "ragd.egressRules" -}}
{{- $ctx := index . 0 -}}
{{- $e := $ctx.Values.networkPolicy.egress -}}
- ports:
    {{- range required "networkPolicy.egress.dns.ports: the DNS port(s)" $e.dns.ports }}
    - protocol: UDP
      port: {{ . }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with $e.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- range $name := index . 1 }}
{{- $t := get $e $name }}
{{- if $t.to }}
- to:
    {{- toYaml $t.to | nindent 4 }}
  ports:
    {{- range required (printf "networkPolicy.egress.%s.ports" $name) $t.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
{{- end }}
{{- end }}
{{- if index . 2 }}
{{- with $e.extra }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The backup job's pods (docs/operations.md): a name of their own, so no API or worker selector takes them. */}}
{{- define "ragd.backupName" -}}
{{- printf "%s-backup" (include "ragd.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ragd.backupSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-backup" (include "ragd.name" .) }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: backup
{{- end -}}

{{- define "ragd.backupLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ragd.backupSelectorLabels" . }}
app.kubernetes.io/part-of: {{ include "ragd.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The llama.cpp variant (llm.enabled, docs/llm.md#kubernetes): "true" when the API pods run it, after checking that
the model has a source: a claim or an image mounted at /models (not both), unless llm.modelPath is an absolute
path elsewhere (e.g. on SQLite mode's data volume).
*/}}
{{- define "ragd.llm" -}}
{{- $l := .Values.llm -}}
{{- if $l.enabled -}}
{{- $claim := $l.models.existingClaim -}}
{{- $image := $l.models.image.repository -}}
{{- if and $claim $image -}}
{{- fail "llm.models: existingClaim or image, not both (one source is mounted at /models)" -}}
{{- end -}}
{{- $path := $l.modelPath | default "" -}}
{{- $elsewhere := and (isAbs $path) (ne (clean $path) "/models") (not (hasPrefix "/models/" (clean $path))) -}}
{{- if not (or $claim $image $elsewhere) -}}
{{- fail "llm.enabled needs the GGUF model: set llm.models.existingClaim (a PersistentVolumeClaim holding it) or llm.models.image (an image holding it), mounted at /models; or llm.modelPath to an absolute path outside /models" -}}
{{- end -}}
{{- if lt (int $l.gpu.count) 0 -}}
{{- fail "llm.gpu.count: a number of GPUs, 0 or more" -}}
{{- end -}}
{{- end -}}
{{- ternary "true" "false" (not (empty $l.enabled)) -}}
{{- end -}}

{{/* "true" when the llama.cpp variant runs on GPUs (llm.gpu.count > 0). */}}
{{- define "ragd.llmGpu" -}}
{{- ternary "true" "false" (and (eq (include "ragd.llm" .) "true") (gt (int .Values.llm.gpu.count) 0)) -}}
{{- end -}}

{{/*
The API container's image: the default image, or with llm.enabled the llama.cpp variant, tagged as its Dockerfile
names it (<tag>-llamacpp, <tag>-llamacpp-cuda with GPUs) unless llm.image says otherwise.
*/}}
{{- define "ragd.apiImage" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if eq (include "ragd.llm" .) "true" -}}
{{- $l := .Values.llm.image -}}
{{- $variant := ternary "-llamacpp-cuda" "-llamacpp" (eq (include "ragd.llmGpu" .) "true") -}}
{{- printf "%s:%s" ($l.repository | default .Values.image.repository) ($l.tag | default (printf "%s%s" $tag $variant)) -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The API container's environment entries: the Secrets' (ragd.secretEnv), then the llama.cpp backend's. */}}
{{- define "ragd.apiEnv" -}}
{{- include "ragd.secretEnv" . }}
{{- if eq (include "ragd.llm" .) "true" }}
{{- $l := .Values.llm }}
- name: RAGD_LLM__BACKEND
  value: llamacpp
- name: RAGD_LLM__MODELS_DIR
  value: /models
{{- with $l.modelPath }}
- name: RAGD_LLM__MODEL_PATH
  value: {{ . | quote }}
{{- end }}
{{- if eq (include "ragd.llmGpu" .) "true" }}
- name: RAGD_LLM__GPU_LAYERS
  value: {{ $l.gpu.layers | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Where the API pods run: nodeSelector and tolerations, plus llm.gpu's when the model runs on GPUs (its selector
wins a clash). The backup job of SQLite mode, which joins the API pod on its node, tolerates the same taints.
*/}}
{{- define "ragd.apiPlacement" -}}
{{- $nodeSelector := .Values.nodeSelector | default dict -}}
{{- $tolerations := .Values.tolerations | default list -}}
{{- if eq (include "ragd.llmGpu" .) "true" -}}
{{- $nodeSelector = merge (deepCopy (.Values.llm.gpu.nodeSelector | default dict)) $nodeSelector -}}
{{- $tolerations = concat $tolerations (.Values.llm.gpu.tolerations | default list) -}}
{{- end -}}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
