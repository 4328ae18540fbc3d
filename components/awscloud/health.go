package awscloud

const healthPath = "/healthz"
