package kube

// ReplicaSplit is the replica-proportional router's arithmetic. Production runs prod pods (the
// stable's live count, as its HPA set it) when the canary starts, and must never serve with
// fewer: up to 50 % the stable keeps all of them and the canary's pods are added beside it
// (prod × weight / (100 − weight), rounded); above 50 % the canary runs prod pods and the stable
// shrinks to its share; at 100 % the stable has none. So the pods serving are at least prod and at
// most 2 × prod. Any weight above 0 gets at least one canary pod, any weight below 100 keeps at
// least one stable pod. The split is coarse with few pods (3: 25 % at a 5 % step): the price of
// routing without a mesh; the Gateway API router splits traffic exactly.
func ReplicaSplit(prod, weight int) (stable, canary int) {
	switch {
	case prod < 1:
		return 0, 0
	case weight <= 0:
		return prod, 0
	case weight >= 100:
		return 0, prod
	case weight <= 50:
		return prod, max(1, (prod*weight+(100-weight)/2)/(100-weight))
	}
	return max(1, (prod*(100-weight)+weight/2)/weight), prod
}

// ProductionSize is the prod that ReplicaSplit was given for a split now at stable and canary
// pods (desired replicas): the larger side, since one of them always keeps all of production's
// pods. With no canary it is the stable's own count, whatever its HPA made it.
func ProductionSize(stable, canary int) int { return max(stable, canary) }

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
