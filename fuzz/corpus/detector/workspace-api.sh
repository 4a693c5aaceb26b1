#!/bin/bash
# Workspace API with the service account ci-bot@64b7c2e5f1a2b3c4d5e6f7a8.iam.applivery.io
curl -s https://api.applivery.io/v1/organizations/64b7c2e5f1a2b3c4d5e6f7a8/apps \
  -H "Authorization: Bearer sQ5YIpGoSqEUuUd3xElqqM5mlp1rtSz4zxFy3wKvMybMtCwL"
