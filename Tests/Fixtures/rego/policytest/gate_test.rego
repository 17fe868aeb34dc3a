package gate_test

import rego.v1

import data.gate

test_allows_few_errors if {
	gate.allow with input as {"errors": 1}
}

test_denies_many_errors if {
	not gate.allow with input as {"errors": 9}
	gate.deny == {"9 errors exceed 3"} with input as {"errors": 9}
}
