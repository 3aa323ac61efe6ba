.PHONY: install build test lint typecheck bench conformance integration start dev clean

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
