package kube

// ReplicaSplit is the replica-proportional router's arithmetic: of total replicas, how many run
// the canary and how many the stable workload so that the canary's share of pods approaches
// weight percent. Any weight above 0 gets at least one canary pod; any weight below 100 keeps at
// least one stable pod. The split is coarse with few replicas (3 pods: 33 %, 67 %): that is the
// price of routing without a mesh; the Gateway API router splits traffic exactly.
func ReplicaSplit(total, weight int) (stable, canary int) {
	switch {
	case total < 1:
		return 0, 0
	case weight <= 0:
		return total, 0
	case weight >= 100:
		return 0, total
	}
	canary = (total*weight + 50) / 100 // rounded
	if canary < 1 {
		canary = 1
	}
	if canary > total-1 {
		canary = total - 1
	}
	if total == 1 { // one pod cannot be split: keep stable until 100 %
		return 1, 0
	}
	return total - canary, canary
}

// EffectiveWeight is the canary's share of ready pods in percent, rounded down.
func EffectiveWeight(stable, canary int) int {
	if stable+canary == 0 {
		return 0
	}
	return canary * 100 / (stable + canary)
}

// CanaryCapacity is how many canary pods serve weight percent of the traffic a stable workload of
// total pods serves, when a route (not pod counts) splits the traffic: ceil(total × weight / 100).
func CanaryCapacity(total, weight int) int {
	if weight <= 0 || total < 1 {
		return 0
	}
	c := (total*weight + 99) / 100
	if c < 1 {
		c = 1
	}
	return c
}
