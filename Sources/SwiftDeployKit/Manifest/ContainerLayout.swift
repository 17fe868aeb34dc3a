import Foundation

/// Where things listen inside the generated containers, whatever the host ports are.
public enum ContainerLayout {
    /// nginx's public listener inside its container (above 1024: nginx has no capability to bind lower).
    public static let nginxPublicPort = 8080
    /// nginx's admin listener inside its container.
    public static let nginxAdminPort = 8081
    /// Prometheus's and Alertmanager's listeners inside their containers (the images' defaults); the
    /// `observability.*_port` keys are the host's loopback ports mapped onto them.
    public static let prometheusPort = 9090
    public static let alertmanagerPort = 9093
    /// The unprivileged user nginx, the OPA sidecar, Prometheus and Alertmanager run as (`nobody:nogroup`,
    /// present in Debian's, the official nginx, OPA, Prometheus and Alertmanager images).
    public static let unprivilegedUser = "65534:65534"
}
