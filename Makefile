.PHONY: demo test check
demo:
	bash scripts/demo
test:
	bash scripts/test
check:
	bash scripts/check
