.PHONY: install build test lint typecheck bench conformance integration start dev clean image image-agent push crds faults

install:
	npm ci

build:
	npm run build

test:
	npm test

lint:
	npm run lint

typecheck:
	npm run typecheck

conformance:
	npm run test:conformance

bench:
	npm run bench

dev:
	npm start

clean:
	rm -rf dist

start:
	npm start

integration:
	npm run test:integration

# ---- container image and deployment (Dockerfile, manifests/) ----
IMAGE ?= manticore-orchestrator
TAG ?= $(shell node -p "require('./package.json').version")
DOCKER ?= docker

# the runtime image (controller, job, mctl, source-feed) and the agent sidecar image (Manticore tools + node)
image:
	$(DOCKER) build --target runtime -t $(IMAGE):$(TAG) .
	$(DOCKER) build --target agent -t $(IMAGE):$(TAG)-agent .

image-agent:
	$(DOCKER) build --target agent -t $(IMAGE):$(TAG)-agent .

# IMAGE=<registry>/<org>/manticore-orchestrator make image push
push:
	$(DOCKER) push $(IMAGE):$(TAG)
	$(DOCKER) push $(IMAGE):$(TAG)-agent

# Kubernetes CRDs generated from schemas/ (manifests/kubernetes)
crds: build
	node scripts/gen-crds.mjs

# the fault suite (test/faults: partitions, pauses, kills on the simulator)
faults: build
	node dist/test/faults/run.js
