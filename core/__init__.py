"""The neutral core every layer may import: artifact seal and naming, the store, repository and
compiler interfaces with their errors, and the metric objects. It imports nothing of proxy/ or cache/."""
