"""Kubernetes, on paper (issue 17; docs/kubernetes.md): the container spec as pod fields and the
course's PersistentVolumeClaims (:mod:`ipynb_tools.kube.render`). No cluster is contacted; the
``kubernetes`` client is needed only by :func:`ipynb_tools.kube.render.apply_to_pod`."""
